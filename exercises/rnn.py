"""Recurrent cells: a vanilla RNN cell and the LSTM (cell and whole sequence).

A recurrent network reads a sequence one step at a time and carries a hidden
state ``h`` from step to step. You implement the forward pass of one step and
its backward pass (backpropagation through one step), then the LSTM over a whole
sequence and backpropagation through time.

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

    With ``dz = dh * activation'(z)`` (elementwise), the chain rule through
    ``z = x @ Wx + h_prev @ Wh + b`` gives ``dx = dz @ Wx.T``,
    ``dh_prev = dz @ Wh.T``, ``dWx = x.T @ dz``, ``dWh = h_prev.T @ dz`` and
    ``db = dz`` summed over the batch.

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

    The cell state reaches the loss twice: directly (``dc``, from the next step)
    and through ``h = o * tanh(c)``. So first form the total
    ``dc_total = dc + dh * o * (1 - tanh(c)**2)``. Then

    - ``do = dh * tanh(c)``, ``di = dc_total * g``, ``dg = dc_total * i``,
      ``df = dc_total * c_prev``, ``dc_prev = dc_total * f``;
    - through the nonlinearities: ``da_i = di * i * (1 - i)``,
      ``da_f = df * f * (1 - f)``, ``da_g = dg * (1 - g**2)``,
      ``da_o = do * o * (1 - o)``; concatenate them in gate order i, f, g, o
      into ``da`` (N, 4H);
    - through the product, as in ``rnn_cell_backward``: ``dx = da @ Wx.T``,
      ``dh_prev = da @ Wh.T``, ``dWx = x.T @ da``, ``dWh = h_prev.T @ da``,
      ``db = da`` summed over the batch.

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

    Walk the steps BACKWARDS, t = T-1, ..., 0. The hidden state of step t
    reaches the loss directly (``dhs[:, t]``) and through step t+1 (the
    ``dh_prev`` returned by the backward of step t+1), so the step's upstream
    gradient is their sum; likewise the cell state's gradient comes only from
    step t+1 (zero at the last step). The weights are used at every step, so
    their gradients are the SUM over the steps.

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
        Gradient with respect to the initial hidden state (what flows out of
        step 0 as ``dh_prev``).
    dWx : ndarray, shape (D, 4H)
    dWh : ndarray, shape (H, 4H)
    db : ndarray, shape (4H,)
    """
    raise NotImplementedError("lstm_backward: your code here")
