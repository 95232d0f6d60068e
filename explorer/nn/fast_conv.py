"""The speed kernels behind Conv2D and MaxPool2D: strided views instead of copies, reused
buffers, and max-pooling without a Python loop over windows.

They compute the same numbers as the readable definitions at the top of explorer/nn/conv.py
(tests/test_readable_vs_fast.py checks it); read those first. What is here only decides how
the copies and the arithmetic are laid out in memory.
"""
from __future__ import annotations

import threading

import numpy as np

from explorer.nn.layers import column_sums
from explorer.nn.parallel import WORKERS, map_chunks


def strided_view(x: np.ndarray, shape: tuple, strides: tuple) -> np.ndarray:
    """A read-only view of x's memory with these shape and strides. Built as an ndarray over
    x's buffer when x is contiguous: 4x quicker than as_strided, which shows for one image."""
    if not x.flags.c_contiguous:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    view = np.ndarray(shape, x.dtype, buffer=x, strides=strides)  # checks that it fits in x
    view.flags.writeable = False
    return view


def window_view(x: np.ndarray, kernel: int, stride: int, out_h: int, out_w: int) -> np.ndarray:
    """Every k x k window of NHWC `x` as a read-only view of shape (N, out_h, out_w, k, k, C)."""
    n, _, _, c = x.shape
    sn, sh, sw, sc = x.strides
    shape = (n, out_h, out_w, kernel, kernel, c)
    return strided_view(x, shape, (sn, sh * stride, sw * stride, sh, sw, sc))


def tap_view(x: np.ndarray, kernel: int, stride: int, out_h: int, out_w: int) -> np.ndarray:
    """The same windows for a one-channel NHWC `x`, arranged tap-major, (k, k, N, out_h, out_w):
    for each kernel offset, every input pixel it meets (runs of whole image rows)."""
    sn, sh, sw, _ = x.strides
    shape = (kernel, kernel, len(x), out_h, out_w)
    return strided_view(x, shape, (sh, sw, sn, sh * stride, sw * stride))


def zero_border(x: np.ndarray, border: int, buffer: np.ndarray | None) -> np.ndarray:
    """x with `border` zeros around its height and width (a crop if negative).

    Written into `buffer` when it has the right shape, so the zero frame is allocated
    once and only the interior is copied per step; returns the array to keep as buffer."""
    if border <= 0:
        return x if border == 0 else x[:, -border:border, -border:border, :]
    n, h, w, c = x.shape
    shape = (n, h + 2 * border, w + 2 * border, c)
    if buffer is None or buffer.shape != shape or buffer.dtype != x.dtype:
        buffer = np.zeros(shape, x.dtype)
    buffer[:, border : border + h, border : border + w, :] = x  # the frame stays zero
    return buffer


class _PassingRows(threading.local):
    """The im2col rows of a pass that keeps nothing for backward (evaluation) go to one buffer
    per thread, which every layer reuses in turn: one image's pass through DeepConvNet then
    touches 0.5 MB of rows instead of 1.1 MB, and stays in the L2 cache (measured 5% faster)."""

    def __init__(self):  # runs in each thread on its first use
        self.buffers = [None]


passing_rows = _PassingRows()


# --- max-pooling ------------------------------------------------------------------------------


def window_maxima(x: np.ndarray, out: np.ndarray, k: int, s: int) -> None:
    """out = the maximum of every k x k window (stride s) of x, written in place.

    Separable: the max over k rows (strided slices), then over k columns of that:
    2(k-1) elementwise maxima instead of k*k, for overlapping windows too."""
    out_h, out_w = out.shape[1:3]
    rows = x[:, : s * (out_h - 1) + 1 : s]
    for i in range(1, k):
        rows = np.maximum(rows, x[:, i : i + s * (out_h - 1) + 1 : s])
    np.copyto(out, rows[:, :, : s * (out_w - 1) + 1 : s])
    for j in range(1, k):
        np.maximum(out, rows[:, :, j : j + s * (out_w - 1) + 1 : s], out=out)


def route_tiles(dout: np.ndarray, x: np.ndarray, out: np.ndarray, dx: np.ndarray, k: int) -> None:
    """Max-pool routing for windows that tile the input (stride = size): each input gets its
    share written once, with no zero fill and no adds. The same routing as the general case
    (explorer.nn.conv.max_pool_backward): the first maximum of each window in row-major order."""
    if not route_unique_maxima(dout, x, out, dx, k):
        route_first_maxima(dout, x, out, dx, k)


def route_unique_maxima(dout: np.ndarray, x: np.ndarray, out: np.ndarray, dx: np.ndarray, k: int) -> bool:
    """The routing when no window holds its maximum twice (no ties, no NaN): then an input gets
    its window's gradient exactly where it equals the window's maximum. Compared a whole row of
    the tiles at a time, these passes run over long contiguous runs instead of C numbers at a
    time (Zhou's CNN's pooling backward 2x faster). Writes nothing and returns False on a tie."""
    n, h, w, c = x.shape
    beside = (n, h // k, k, w, c)  # [:, r, i] = row i of every window in window row r
    maxima = np.repeat(out, k, axis=2)  # each window's maximum beside each of its columns
    hits = [x.reshape(beside)[:, :, i] == maxima for i in range(k)]
    if sum(np.count_nonzero(hit) for hit in hits) != out.size or np.isnan(out).any():
        return False
    gradients = np.repeat(dout, k, axis=2)
    for i, hit in enumerate(hits):
        np.multiply(gradients, hit.astype(dout.dtype), out=dx.reshape(beside)[:, :, i])
    return True


def route_first_maxima(dout: np.ndarray, x: np.ndarray, out: np.ndarray, dx: np.ndarray, k: int) -> None:
    """The routing with ties: offset by offset, each window's first hit takes the gradient."""
    n, h, w, c = x.shape
    tiles = (n, h // k, k, w // k, k, c)  # [:, r, i, s, j] = window (r, s), offset (i, j)
    x, dx = x.reshape(tiles), dx.reshape(tiles)
    unclaimed = None  # the windows whose maximum no earlier offset held
    for i in range(k):
        for j in range(k):
            hit = x[:, :, i, :, j, :] == out
            if unclaimed is None:
                unclaimed = ~hit
            else:
                hit &= unclaimed
                unclaimed ^= hit
            np.multiply(dout, hit, out=dx[:, :, i, :, j, :])


# --- the convolution ---------------------------------------------------------------------------


class ChunkedConvolution:
    """Conv2D's forward and backward passes, computed fast.

    im2col copies, for every output position, the k x k x C input window into one row of a
    matrix; the convolution is then a single matmul with the kernel reshaped to (k*k*C, F).
    The copy is one np.copyto from a strided *view* of all windows (no Python loop over
    kernel offsets), into a buffer the layer reuses from step to step, for a cache-sized chunk
    of the batch at a time: copy, multiply, next chunk - on both CPU cores, each with its own
    buffer (explorer.nn.parallel).

    The input gradient of a stride-1 convolution is itself a convolution: of the output
    gradient, zero-padded by k-1-p, with the kernel flipped and its in/out channels swapped.
    So backward reuses the same im2col + matmul instead of scattering k*k window gradients
    back (col2im); col2im by shifted adds remains for strides above 1 and narrow inputs.

    The layer (Conv2D) provides kernel, stride, padding, filters, W, b, _output_size and
    _one_channel, and its tuning: _chunk_budget(), _blocks(rows), _full_convolution_input_gradient(c).
    """

    def start_buffers(self):
        # Reused between steps while the batch shape stays (Network.release_buffers drops them):
        self._work: list = [None] * WORKERS  # per worker thread: one chunk's im2col rows
        self._work_size = 0  # the planned chunk's size (_chunks)
        self._x_padded = None  # zero-framed input, kept for the backward pass
        self._dout_padded = None  # zero-framed output gradient
        self._forward_rows = None  # the forward's im2col rows, while the work buffer holds them

    def _chunks(self, n: int, rows_per_image: int, width: int, dtype) -> list[slice]:
        """Slices of the batch whose im2col rows fill about CHUNK_BYTES (one channel: twice that)."""
        budget = self._chunk_budget()
        per_chunk = max(1, budget // (rows_per_image * width * np.dtype(dtype).itemsize))
        self._work_size = min(per_chunk, n) * rows_per_image * width
        return [slice(start, min(start + per_chunk, n)) for start in range(0, n, per_chunk)]

    def _work_buffer(self, worker: int, dtype, keep: bool) -> np.ndarray:
        """The buffer for a planned chunk's rows, made on its first use and then reused: the
        layer's own, one per worker, for rows that backward may reuse (`keep`); otherwise the
        calling thread's, shared by all layers."""
        if keep:
            buffers, slot = self._work, worker
        else:
            buffers, slot = passing_rows.buffers, 0
        buffer = buffers[slot]
        if buffer is None or buffer.size < self._work_size or buffer.dtype != dtype:
            buffer = buffers[slot] = np.empty(self._work_size, dtype)
        return buffer

    def release_buffers(self):
        super().release_buffers()
        self._work = [None] * WORKERS

    def _im2col(self, xp: np.ndarray, stride: int, out_h: int, out_w: int, worker: int = 0, ones=False, keep=True):
        """Rows of windows of the (already padded) xp, (N * out_h * out_w, k * k * C), copied
        into a reused buffer (the chunk _chunks planned; see _work_buffer for `keep`); with a
        last column of ones if asked (one channel only, see forward)."""
        n, k, c = len(xp), self.kernel, xp.shape[-1]
        rows, width = n * out_h * out_w, k * k * c
        if c == 1:
            # One channel makes a window row only k numbers long, so copy tap by tap instead,
            # whole image rows at once, and hand BLAS the transposed matrix (it reads either).
            columns = width + 1 if ones else width
            work = self._work_buffer(worker, xp.dtype, keep)[: rows * columns]
            taps = work[: rows * width].reshape(k, k, n, out_h, out_w)
            np.copyto(taps, tap_view(xp, k, stride, out_h, out_w))
            work[rows * width :] = 1
            return work.reshape(columns, rows).T
        work = self._work_buffer(worker, xp.dtype, keep)[: rows * width]
        cols = work.reshape(rows, width)
        np.copyto(cols.reshape(n, out_h, out_w, k, k, c), window_view(xp, k, stride, out_h, out_w))
        return cols

    def im2col(self, x):
        """Rows of input windows for the whole batch, (N * out_h * out_w, k * k * C): the matrix
        the convolution multiplies by the kernel (forward builds it a chunk at a time)."""
        out_h, out_w = self._output_size(x.shape[1], x.shape[2])
        windows = window_view(zero_border(x, self.padding, None), self.kernel, self.stride, out_h, out_w)
        return windows.reshape(-1, self.kernel**2 * x.shape[-1])  # a copy: the windows overlap

    def fast_forward(self, x, train=False):
        """convolve(x, W, b, stride, padding) of explorer/nn/conv.py, in cache-sized chunks on both cores."""
        n, h, w, c = self.input_shape = x.shape
        f = self.filters
        out_h, out_w = self._output_size(h, w)
        self._x_padded = xp = zero_border(x, self.padding, self._x_padded)
        out = np.empty((n, out_h, out_w, f), x.dtype)
        kernel = self.W.value.reshape(-1, f)
        # One channel: the rows of windows end with a 1 and the kernel with the bias - the weight
        # of an input that is always 1 - so the product adds the bias, and backward's product
        # gives the bias gradient as its last row: one product instead of three passes.
        # Otherwise the bias is added a row of output pixels at a time: pixel by pixel, NumPy's
        # inner loop would run only F numbers long (5x slower for 8 filters, 2x for 16).
        bias_in_product = self._one_channel
        if bias_in_product:
            kernel = np.concatenate((kernel, self.b.value[None]))
        else:
            row_bias = np.empty(out_w * f, x.dtype)
            row_bias.reshape(out_w, f)[:] = self.b.value  # np.tile's numbers, 6x quicker

        def convolve(part, worker):
            rows = self._im2col(xp[part], self.stride, out_h, out_w, worker, ones=bias_in_product, keep=train)
            flat_out = out[part].reshape(-1, f)
            for block in self._blocks(len(rows)):
                np.matmul(rows[block], kernel, out=flat_out[block])
            if not bias_in_product:
                pixel_rows = out[part].reshape(-1, row_bias.size)  # a view
                pixel_rows += row_bias
            return rows

        all_rows = map_chunks(convolve, self._chunks(n, out_h * out_w, kernel.shape[0], x.dtype))
        # The whole batch in one chunk of training: backward can reuse these rows.
        self._forward_rows = all_rows[0] if train and len(all_rows) == 1 else None
        return out

    def fast_backward(self, dout, input_grad: bool):
        """The weight and bias gradients, and dL/dx when asked, a chunk of the batch at a time:
        convolution_weight_gradient, convolution_bias_gradient and convolution_input_gradient
        of explorer/nn/conv.py, computed faster."""
        n, h, w, c = self.input_shape
        k, f = self.kernel, self.filters
        _, out_h, out_w, _ = dout.shape
        grad_rows = dout.reshape(n, out_h * out_w, f)
        # Stride 1: dL/dx is a 'full' convolution of dout with the flipped kernel, built in the
        # same chunks (its rows of dout windows may need smaller ones). Larger strides, and
        # inputs with few channels, scatter the window gradients back instead (col2im): the
        # full convolution's product would have only C columns, which BLAS computes slowly.
        full_convolution = input_grad and self._full_convolution_input_gradient(c)
        bias_in_product = self._one_channel
        weight_rows = k * k * c + bias_in_product  # rows of the weight gradient
        rows_per_image, width = out_h * out_w, weight_rows
        if full_convolution:
            self._dout_padded = dp = zero_border(dout, k - 1 - self.padding, self._dout_padded)
            flipped = self.W.value[::-1, ::-1].transpose(0, 1, 3, 2).reshape(-1, c)  # (k*k*F, C)
            dx = np.empty(self.input_shape, dout.dtype)
            rows_per_image, width = max(rows_per_image, h * w), k * k * max(c, f)

        def gradients(part, worker):
            rows, grads = self._input_rows(part, out_h, out_w, worker), grad_rows[part].reshape(-1, f)
            grad_w = sum(rows[block].T @ grads[block] for block in self._blocks(len(rows)))
            if full_convolution:
                np.matmul(self._im2col(dp[part], 1, h, w, worker), flipped, out=dx[part].reshape(-1, c))
            return grad_w

        parts = self._chunks(n, rows_per_image, width, dout.dtype)
        grad_w = sum(map_chunks(gradients, parts)) if parts else np.zeros((weight_rows, f), dout.dtype)
        self._forward_rows = None  # the work buffer may hold other rows now
        if bias_in_product:  # the last row, the gradient of the ones' weights, is the bias's
            grad_w, self.b.grad = grad_w[:-1], grad_w[-1].copy()
        else:
            self.b.grad = column_sums(dout.reshape(-1, f))
        self.W.grad = grad_w.reshape(self.W.value.shape)
        if not input_grad:
            return None
        return dx if full_convolution else self._input_gradient_col2im(dout)

    def _input_rows(self, part: slice, out_h: int, out_w: int, worker: int) -> np.ndarray:
        """The forward's im2col rows for the images in `part`: still in the work buffer when
        the batch was one chunk and nothing has overwritten them since, otherwise built again."""
        if part == slice(0, len(self._x_padded)) and self._forward_rows is not None:
            return self._forward_rows
        return self._im2col(self._x_padded[part], self.stride, out_h, out_w, worker, ones=self._one_channel)

    def _input_gradient_col2im(self, dout):
        """dL/dx by adding every window's gradient back where the window was read from (col2im).

        Laid out channel-first on the padded input's grid, with each output's gradient at the
        pixel where its window starts, one kernel offset's share for all windows is the same
        grid shifted by that offset: k*k adds of long contiguous rows, one matrix product."""
        n, h, w, c = self.input_shape
        k, s, p, f = self.kernel, self.stride, self.padding, self.filters
        _, out_h, out_w, _ = dout.shape
        grid_h, grid_w = h + 2 * p, w + 2 * p
        grid = np.zeros((f, n, grid_h, grid_w), dout.dtype)
        grid[:, :, : s * (out_h - 1) + 1 : s, : s * (out_w - 1) + 1 : s] = dout.transpose(3, 0, 1, 2)
        pixels = n * grid_h * grid_w
        kernel = self.W.value.reshape(k * k * c, f)
        offset_grads = (kernel @ grid.reshape(f, pixels)).reshape(k, k, c, pixels)
        dx = np.zeros((c, pixels + (k - 1) * (grid_w + 1)), dout.dtype)  # room for the last shifts
        for i in range(k):
            for j in range(k):
                shift = i * grid_w + j
                dx[:, shift : shift + pixels] += offset_grads[i, j]
        dx = dx[:, :pixels].reshape(c, n, grid_h, grid_w)[:, :, p : p + h, p : p + w]
        return np.ascontiguousarray(dx.transpose(1, 2, 3, 0))  # back to NHWC
