"""Recurrent networks: the vanilla RNN cell and sequence, and the LSTM.

A recurrent network reads a sequence one step at a time and carries a hidden
state ``h`` from step to step. You implement the forward pass of one step and
its backward pass (backpropagation through one step), then run the cells over
whole sequences and backpropagate through time.

Check every backward with your ``numerical_gradient`` and ``rel_error``
(gradcheck.py; copy them into a scratch file, an exercise module must not
import another): run the forward, draw random upstream gradients ``dh`` of
the outputs' shapes, and compare the backward's gradients with the numerical
gradients of the scalar ``sum(h * dh)`` (plus ``sum(c * dc)`` for the LSTM
cell).

Conventions (as in every exercise module):

- Batches are rows: ``x`` at one time step has shape ``(N, D)`` (N examples,
  D input features), hidden states ``(N, H)``. A sequence is ``(N, T, D)``.
- ``*_forward`` returns ``(outputs..., cache)``; ``*_backward`` takes the
  upstream gradient(s) and that cache and returns the gradients of the loss with
  respect to the forward's array inputs, in the order of the forward's
  parameters. Put in the cache whatever the backward needs (inputs, weights,
  activations); the grader never looks inside it.
- Never modify an input array in place; return new arrays.
- Only NumPy and the standard library's math-like modules (``math``) may be
  imported. The grader forbids importing ``solutions``, ``csrc``, ``grader``,
  ``scipy``, ``torch``, ``tensorflow`` and ``jax``. Do not import another
  exercise module either: each module is graded on its own.
"""

import numpy as np


def rnn_cell_forward(x, h_prev, Wx, Wh, b, activation="tanh"):
    """One step of a vanilla (Elman) RNN.

    Compute ``z = x @ Wx + h_prev @ Wh + b`` and ``h = activation(z)``.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        The inputs of this time step.
    h_prev : ndarray, shape (N, H)
        The hidden state of the previous step.
    Wx : ndarray, shape (D, H)
        Input-to-hidden weights.
    Wh : ndarray, shape (H, H)
        Hidden-to-hidden weights.
    b : ndarray, shape (H,)
        Bias (broadcast over the batch).
    activation : str
        ``"tanh"`` or ``"sigmoid"``; anything else raises ``ValueError``. Choose
        the function from a dict ``{name: function}`` rather than an if/elif
        chain.

    Returns
    -------
    h : ndarray, shape (N, H)
        The new hidden state.
    cache : object
        What ``rnn_cell_backward`` needs, e.g. ``(x, h_prev, Wx, Wh, h,
        activation)``.

    Notes
    -----
    - sigmoid(z) = 1 / (1 + exp(-z)) overflows ``exp`` for large negative z
      (NumPy warns). Use the two-sided stable form: with e = exp(-|z|),
      sigmoid(z) = 1 / (1 + e) where z >= 0 and e / (1 + e) where z < 0.
    - Both derivatives are cheap in terms of the OUTPUT h: tanh'(z) = 1 - h**2,
      sigmoid'(z) = h * (1 - h). Keeping h in the cache is enough.
    """
    raise NotImplementedError("rnn_cell_forward: your code here")


def rnn_cell_backward(dh, cache):
    """Backward pass of :func:`rnn_cell_forward`.

    The forward is two layers you have met in backprop.py::

        z = x @ Wx + h_prev @ Wh + b      an affine map of TWO inputs (N, H)
        h = activation(z)                 elementwise

    Chain their backwards: first through the activation (its derivative in
    terms of the output h, which you kept), giving dz; then through the
    affine map, which is the affine layer's backward applied once for
    (x, Wx) and once for (h_prev, Wh), with b shared by both.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        Gradient of the loss with respect to the output h.
    cache : object
        The cache returned by ``rnn_cell_forward``.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    dWx : ndarray, shape (D, H)
    dWh : ndarray, shape (H, H)
    db : ndarray, shape (H,)
        Each gradient has the shape of the input it belongs to. The weights are
        shared by all examples, so their gradients SUM over the batch.

    Check: ``numerical_gradient`` / ``rel_error`` (gradcheck.py) on N = 3,
    D = 4, H = 5 with ``L = sum(h * dh)``, for both activations.
    """
    raise NotImplementedError("rnn_cell_backward: your code here")


def lstm_cell_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One step of a long short-term memory (LSTM) cell.

    Compute the pre-activations of the four gates in one product,
    ``a = x @ Wx + h_prev @ Wh + b`` with shape (N, 4H), and split ``a`` into
    four blocks of H columns, IN THIS ORDER (the order of ``torch.nn.LSTMCell``):

    - ``i = sigmoid(a[:, 0:H])``      input gate
    - ``f = sigmoid(a[:, H:2H])``     forget gate
    - ``g = tanh(a[:, 2H:3H])``       candidate cell values
    - ``o = sigmoid(a[:, 3H:4H])``    output gate

    Then ``c = f * c_prev + i * g`` and ``h = o * tanh(c)`` (elementwise).

    Parameters
    ----------
    x : ndarray, shape (N, D)
        The inputs of this time step.
    h_prev : ndarray, shape (N, H)
        Previous hidden state.
    c_prev : ndarray, shape (N, H)
        Previous cell state.
    Wx : ndarray, shape (D, 4H)
        Input-to-gates weights (columns in gate order i, f, g, o).
    Wh : ndarray, shape (H, 4H)
        Hidden-to-gates weights (same column order).
    b : ndarray, shape (4H,)
        Gate biases (same order).

    Returns
    -------
    h : ndarray, shape (N, H)
        New hidden state.
    c : ndarray, shape (N, H)
        New cell state.
    cache : object
        What ``lstm_cell_backward`` needs: x, h_prev, c_prev, Wx, Wh, the four
        gate values and tanh(c).

    Notes
    -----
    - Use the numerically stable sigmoid (see ``rnn_cell_forward``): gate
      pre-activations can be large.
    - A different gate order (e.g. i, f, o, g) gives a perfectly good LSTM but
      not THIS one: the grader compares with torch's order.
    """
    raise NotImplementedError("lstm_cell_forward: your code here")


def lstm_cell_backward(dh, dc, cache):
    """Backward pass of :func:`lstm_cell_forward`.

    The forward, as a graph (all products elementwise, shapes (N, H) unless
    marked)::

        a (N, 4H) = x @ Wx + h_prev @ Wh + b  -> split -> a_i, a_f, a_g, a_o
        i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
        c = f * c_prev + i * g
        h = o * tanh(c)

    Derive the backward by walking this graph from the bottom up, one node at
    a time, with the rule "a node's gradient is the sum over its uses":

    1. c has TWO uses: it is an output (its gradient ``dc`` comes from the
       next step) and it feeds h. So its total gradient is ``dc`` plus what
       flows back from h through ``tanh(c)``.
    2. h = o * tanh(c) gives the gradient of o; c = f * c_prev + i * g gives
       those of f, c_prev, i and g (a product passes each factor the upstream
       gradient times the OTHER factor).
    3. Each gate's nonlinearity: from d(gate) to d(a_gate), with the
       derivatives you wrote in activations.py (expressed in the gate's value:
       you kept i, f, g, o in the cache).
    4. Put the four blocks back together, in the order i, f, g, o, as da
       (N, 4H): now a = x @ Wx + h_prev @ Wh + b is exactly the affine map of
       ``rnn_cell_backward``, and dx, dh_prev, dWx, dWh, db follow as there.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        Gradient of the loss with respect to h.
    dc : ndarray, shape (N, H)
        Gradient of the loss with respect to c (zeros if c is not used later).
    cache : object
        The cache returned by ``lstm_cell_forward``.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    dc_prev : ndarray, shape (N, H)
    dWx : ndarray, shape (D, 4H)
    dWh : ndarray, shape (H, 4H)
    db : ndarray, shape (4H,)

    Check (with ``numerical_gradient`` and ``rel_error`` from gradcheck.py):
    N = 2, D = 3, H = 4, random dh and dc, and the scalar
    ``L = sum(h * dh) + sum(c * dc)`` of the forward's two outputs; compare
    all six gradients. If only some of the four H-column blocks of dWx are
    wrong, the bug is in that gate's step 2 or 3. Then check again with
    ``dc = 0``: a right answer still matches (step 1's second path alone).
    """
    raise NotImplementedError("lstm_cell_backward: your code here")


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM over a whole sequence.

    Starting from ``h = h0`` and a ZERO initial cell state ``c = 0`` (N, H),
    apply ``lstm_cell_forward`` at every time step t = 0, ..., T-1 to
    ``x[:, t, :]`` with the same weights, and collect every hidden state.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        The input sequences (batch first, like ``torch.nn.LSTM(batch_first=True)``).
    h0 : ndarray, shape (N, H)
        Initial hidden state.
    Wx : ndarray, shape (D, 4H)
    Wh : ndarray, shape (H, 4H)
    b : ndarray, shape (4H,)
        As in ``lstm_cell_forward`` (gate order i, f, g, o).

    Returns
    -------
    hs : ndarray, shape (N, T, H)
        ``hs[:, t]`` is the hidden state after step t.
    cache : object
        What ``lstm_backward`` needs, e.g. the list of the T step caches.

    Notes
    -----
    Write the hidden states into a new array (or stack a list); do not write
    into ``x`` or ``h0``.
    """
    raise NotImplementedError("lstm_forward: your code here")


def lstm_backward(dhs, cache):
    """Backpropagation through time for :func:`lstm_forward`.

    Unroll the forward: it is T copies of the cell, chained by (h, c), all
    sharing Wx, Wh and b::

        (h0, c0=0) -> cell(x_0) -> (h_1, c_1) -> cell(x_1) -> ... -> (h_T, c_T)
                           |                          |
                        hs[:, 0]                   hs[:, 1]   ...

    Apply "a node's gradient is the sum over its uses" to this picture:

    - which uses does the hidden state of step t have, and therefore what is
      the ``dh`` to pass to step t's ``lstm_cell_backward``? And the ``dc``?
      (The cell state is not an output of the sequence.)
    - in which order must the steps be visited so that every step's upstream
      gradients are complete when you need them?
    - Wx, Wh and b are used by every step: what becomes of the T per-step
      gradients?
    - what flows out of step 0 towards h0?

    Parameters
    ----------
    dhs : ndarray, shape (N, T, H)
        Gradient of the loss with respect to every hidden state ``hs``.
    cache : object
        The cache returned by ``lstm_forward``.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
        Gradient with respect to the initial hidden state.
    dWx : ndarray, shape (D, 4H)
    dWh : ndarray, shape (H, 4H)
    db : ndarray, shape (4H,)

    Check: ``numerical_gradient`` / ``rel_error`` on N = 2, T = 4, D = 3,
    H = 2 with ``L = sum(hs * dhs)``. A telling second check: set
    ``dhs[:, :-1] = 0`` (only the last state matters) and look at dx[:, 0].
    If it is zero, the gradient from later steps never reached the first one.
    """
    raise NotImplementedError("lstm_backward: your code here")


def rnn_forward(x, h0, Wx, Wh, b):
    """The tanh RNN cell over a whole sequence.

    Starting from ``h = h0``, at every step t = 0, ..., T-1:
    ``h = tanh(x[:, t] @ Wx + h @ Wh + b)``, the same weights at every step;
    ``hs[:, t]`` is the h of step t. Like ``torch.nn.RNN(D, H,
    batch_first=True)`` (one layer, tanh) with ``weight_ih_l0 = Wx.T``,
    ``weight_hh_l0 = Wh.T`` and ``bias_ih_l0 + bias_hh_l0 = b``.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        N sequences of T steps of D features (batch first).
    h0 : ndarray, shape (N, H)
        The initial hidden state.
    Wx : ndarray, shape (D, H)
    Wh : ndarray, shape (H, H)
    b : ndarray, shape (H,)

    Returns
    -------
    hs : ndarray, shape (N, T, H)
    cache : object
        What ``rnn_backward`` needs, e.g. the list of the T step caches of
        ``rnn_cell_forward`` (call your cell: do not write it twice).

    Notes
    -----
    A small example to try by hand: N = 1, D = H = 1, Wx = [[1]],
    Wh = [[0.5]], b = [0], h0 = [[0]] and x = [1, 0, 0] gives
    hs = [tanh(1), tanh(0.5 tanh(1)), ...]: the first input echoes, fading,
    through the later states. That echo is what backpropagation through time
    must follow backwards.
    """
    raise NotImplementedError("rnn_forward: your code here")


def rnn_backward(dhs, cache):
    """Backpropagation through time for :func:`rnn_forward`.

    The unrolled graph: ``h_{t+1} = tanh(x_t @ Wx + h_t @ Wh + b)``, so each
    hidden state is used TWICE, as an output (``dhs[:, t]``) and as the input
    of the next step::

        h0 --> step 0 --> h_1 --> step 1 --> h_2 --> ... --> h_T
                           |                  |               |
                       dhs[:, 0]          dhs[:, 1]      dhs[:, T-1]

    So the gradient of h at step t is ``dhs[:, t]`` PLUS the ``dh_prev`` that
    step t+1's backward returned (nothing after the last step). Visit the
    steps backwards, t = T-1, ..., 0, calling your ``rnn_cell_backward`` on
    that sum; the weights are shared by all steps, so their gradients are the
    SUM of the steps' gradients. What leaves step 0 as ``dh_prev`` is dh0.

    Parameters
    ----------
    dhs : ndarray, shape (N, T, H)
        Gradient of the loss with respect to every hidden state in ``hs``.
    cache : object
        The cache returned by ``rnn_forward``.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    dWx : ndarray, shape (D, H)
    dWh : ndarray, shape (H, H)
    db : ndarray, shape (H,)

    Check: ``numerical_gradient`` / ``rel_error`` (gradcheck.py) on N = 2,
    T = 5, D = 3, H = 4 with ``L = sum(hs * dhs)``. Then the telling one:
    only the LAST state in the loss (``dhs[:, :-1] = 0``). The first input
    still influences h_T, so dx[:, 0] and dh0 must not be zero.
    """
    raise NotImplementedError("rnn_backward: your code here")
