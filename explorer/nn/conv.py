"""Convolution and pooling on NHWC images (batch, height, width, channels).

Read the top of this file first: the readable definitions, a few lines each.

    rows = im2col(x, k, stride, padding)     # every k x k x C window of the input as one row
    out  = rows @ W.reshape(k*k*C, F) + b    # the convolution: one matrix product
    dW   = rows.T @ dout                     # its weight gradient: the same rows, transposed
    db   = dout summed over every position
    dx   = col2im(dout @ W.T)                # each window's gradient added back where it was read

The layers below (Conv2D, MaxPool2D) compute exactly these numbers, faster: im2col as one copy
from a strided *view* of all windows into a buffer the layer reuses, a cache-sized chunk of the
batch at a time on both CPU cores (explorer.nn.parallel); the input gradient of a stride-1
convolution as a 'full' convolution of the output gradient with the flipped kernel (the same
im2col + matmul); col2im by shifted adds for the rest. The kernels they use live in
explorer/nn/fast_conv.py; tests/test_readable_vs_fast.py checks that both give the same numbers.
"""
from __future__ import annotations

import numpy as np

# strided_view, window_view and zero_border lived here before fast_conv.py: still importable from here
from explorer.nn.fast_conv import ChunkedConvolution, route_tiles, strided_view, window_maxima, window_view, zero_border  # noqa: F401
from explorer.nn.inits import init_bias, init_weights
from explorer.nn.layers import Layer, Parameter
from explorer.nn.machine import working_cache_bytes
from explorer.nn.parallel import batch_parts, map_chunks


# --- the readable definitions -----------------------------------------------------------------


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """(W - K + 2P) / S + 1, rounded down as every framework does."""
    return (size - kernel + 2 * padding) // stride + 1


def offset_slices(kernel: int, stride: int, out_h: int, out_w: int):
    """For each kernel offset (i, j): the strided input slices it meets across all outputs."""
    for i in range(kernel):
        for j in range(kernel):
            rows = slice(i, i + stride * (out_h - 1) + 1, stride)
            cols = slice(j, j + stride * (out_w - 1) + 1, stride)
            yield i, j, rows, cols


def pad(x: np.ndarray, padding: int) -> np.ndarray:
    """x with `padding` rows and columns of zeros around every image."""
    return np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))


def im2col(x: np.ndarray, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Every kernel x kernel window of x (N, H, W, C) as one row: (N * out_h * out_w, k * k * C)."""
    n, h, w, c = x.shape
    out_h, out_w = output_size(h, kernel, stride, padding), output_size(w, kernel, stride, padding)
    x = pad(x, padding)
    windows = np.empty((n, out_h, out_w, kernel, kernel, c), x.dtype)
    for i in range(kernel):  # kernel row
        for j in range(kernel):  # kernel column: the pixels this weight meets, for every window
            windows[:, :, :, i, j, :] = x[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :]
    return windows.reshape(n * out_h * out_w, kernel * kernel * c)


def convolve(x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The convolution of x (N, H, W, C) with F filters W (k, k, C, F) plus biases b (F,):
    im2col and one matrix product. Returns the feature maps (N, out_h, out_w, F)."""
    n, h, w, _ = x.shape
    k, _, c, f = W.shape
    rows = im2col(x, k, stride, padding)
    out = rows @ W.reshape(k * k * c, f) + b
    return out.reshape(n, output_size(h, k, stride, padding), output_size(w, k, stride, padding), f)


def convolution_weight_gradient(x: np.ndarray, dout: np.ndarray, kernel: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """dL/dW (k, k, C, F): each weight met one input pixel per output position, so its gradient
    is the sum of those pixels times dL/d(output) there: the im2col rows times dout."""
    rows = im2col(x, kernel, stride, padding)
    f = dout.shape[-1]
    return (rows.T @ dout.reshape(-1, f)).reshape(kernel, kernel, x.shape[-1], f)


def convolution_bias_gradient(dout: np.ndarray) -> np.ndarray:
    """dL/db (F,): a bias is added at every position of its map, so its gradient is the sum."""
    return dout.sum(axis=(0, 1, 2))


def col2im(rows: np.ndarray, input_shape: tuple, kernel: int, stride: int, padding: int) -> np.ndarray:
    """The reverse of im2col: add every row's k x k x C numbers back onto the window it was read from."""
    n, h, w, c = input_shape
    out_h, out_w = output_size(h, kernel, stride, padding), output_size(w, kernel, stride, padding)
    windows = rows.reshape(n, out_h, out_w, kernel, kernel, c)
    dx = np.zeros((n, h + 2 * padding, w + 2 * padding, c), rows.dtype)
    for i in range(kernel):
        for j in range(kernel):
            dx[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :] += windows[:, :, :, i, j, :]
    return dx[:, padding : padding + h, padding : padding + w, :]


def convolution_input_gradient(dout: np.ndarray, W: np.ndarray, input_shape: tuple, stride: int = 1, padding: int = 0) -> np.ndarray:
    """dL/dx (N, H, W, C): each window's gradient (dout times the kernel) added back in place."""
    k, _, c, f = W.shape
    window_grads = dout.reshape(-1, f) @ W.reshape(k * k * c, f).T
    return col2im(window_grads, input_shape, k, stride, padding)


def max_pool(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """The largest value of every size x size window (N, out_h, out_w, C)."""
    n, h, w, c = x.shape
    out_h, out_w = output_size(h, size, stride, 0), output_size(w, size, stride, 0)
    out = np.full((n, out_h, out_w, c), -np.inf, x.dtype)
    for i in range(size):
        for j in range(size):
            np.maximum(out, x[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :], out=out)
    return out


def max_pool_backward(x: np.ndarray, dout: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Routing: each window's gradient goes to the input that won it (its first maximum in
    row-major order, as argmax picks it, so a window of equal values sends it once)."""
    out = max_pool(x, size, stride)
    out_h, out_w = out.shape[1:3]
    dx = np.zeros_like(x)
    unclaimed = np.ones(out.shape, bool)  # windows whose gradient has not been sent yet
    for i in range(size):
        for j in range(size):
            where = (slice(None), slice(i, i + stride * out_h, stride), slice(j, j + stride * out_w, stride))
            wins = (x[where] == out) & unclaimed
            unclaimed &= ~wins
            dx[where] += dout * wins
    return dx


# --- the layers: the same numbers, computed faster ----------------------------------------------


def resolve_padding(padding, kernel: int) -> int:
    if padding == "valid":
        return 0
    if padding == "same":  # keeps the size for stride 1 and an odd kernel
        return (kernel - 1) // 2
    if isinstance(padding, (int, np.integer)) and padding >= 0:
        return int(padding)
    raise ValueError(f"padding must be 'same', 'valid' or a non-negative integer, not {padding!r}")


# Rows of im2col built and consumed per chunk of images, the size of the cache a chunk of work
# fills (explorer/nn/machine.py: the L2 when it holds 2 MB, else 2 MB of the L3): the copy and
# the product of a chunk meet in that cache instead of a whole batch's rows (45 MB for
# DeepConvNet's second layer) going out to memory and back.
CHUNK_BYTES = min(max(working_cache_bytes(), 1 << 18), 1 << 23)
# A one-channel layer's rows are cheap to copy and multiplied in small blocks anyway (below), so
# its chunks may be bigger: LeNet's half batches then stay whole and backward reuses the rows.
ONE_CHANNEL_CHUNK_BYTES = 2 * CHUNK_BYTES
FEW_CHANNELS = 8  # inputs with at most this many channels get dL/dx by col2im (measured: LeNet's 6)

# OpenBLAS multiplies matrices with m*n*k up to about a million by kernels that read them in
# place, without its packing copies. A one-channel layer's products - tens of thousands of
# pixels by 9 or 25 taps by a few filters - run 1.3-2.8x faster cut into blocks of that size.
SMALL_PRODUCT = 1_000_000


def blocks_of_rows(rows: int, inner: int, columns: int) -> list[slice]:
    """Blocks of `rows` whose products with an (inner x columns) matrix count as small."""
    size = max(1, SMALL_PRODUCT // (inner * columns))
    return [slice(start, min(start + size, rows)) for start in range(0, rows, size)]


class Conv2D(ChunkedConvolution, Layer):
    """2-D convolution: F filters of size k x k x C_in, weights stored as (k, k, C_in, F).

    It computes convolve() and its gradients above; how, fast, is ChunkedConvolution's business
    (explorer/nn/fast_conv.py). The tuning it reads is here, with the numbers behind it."""

    kind = "conv"
    shares_matmuls = True
    summary = "Slides small learned filters over the image; each filter answers 'is my pattern here?'."

    def __init__(self, filters: int, kernel: int, stride: int = 1, padding="valid"):
        self.filters, self.kernel, self.stride = filters, kernel, stride
        self.padding = resolve_padding(padding, kernel)
        self.start_buffers()

    def config(self):
        return {"filters": self.filters, "kernel": self.kernel, "stride": self.stride, "padding": self.padding}

    def build(self, input_shape, rng, init, dtype):
        h, w, c = input_shape
        k, f = self.kernel, self.filters
        shape = (k, k, c, f)
        self.W = Parameter(init_weights(init, shape, k * k * c, k * k * f, rng, dtype))
        self.b = Parameter(init_bias(init, f, rng, dtype), decay=False)
        out_h, out_w = self._output_size(h, w)
        if out_h < 1 or out_w < 1:
            raise ValueError(f"a {k}x{k} convolution does not fit a {h}x{w} input")
        return (out_h, out_w, f)

    @property
    def _one_channel(self) -> bool:
        """A one-channel input (a first layer) gets its own row layout, chunk size, product
        blocks and bias handling (see _im2col, _chunks, _blocks and forward)."""
        return self.W.value.shape[2] == 1

    def _output_size(self, h: int, w: int) -> tuple[int, int]:
        k, s, p = self.kernel, self.stride, self.padding
        return output_size(h, k, s, p), output_size(w, k, s, p)

    def _blocks(self, rows: int) -> list[slice]:
        """The rows of a chunk's product with the kernel, in small blocks for a one-channel input
        (SMALL_PRODUCT; measured slower for wider inputs, whose products are less skinny)."""
        if not self._one_channel:
            return [slice(0, rows)]
        return blocks_of_rows(rows, self.kernel**2 + 1, self.filters)

    def _chunk_budget(self) -> int:
        """Bytes of im2col rows per chunk of the batch (CHUNK_BYTES; one channel: twice that)."""
        return ONE_CHANNEL_CHUNK_BYTES if self._one_channel else CHUNK_BYTES

    def _full_convolution_input_gradient(self, channels: int) -> bool:
        """Whether dL/dx is computed as a full convolution (else by col2im), see FEW_CHANNELS."""
        return self.stride == 1 and channels > FEW_CHANNELS

    def forward(self, x, train=False):
        """convolve(x, W, b, stride, padding) above: fast_forward in explorer/nn/fast_conv.py."""
        return self.fast_forward(x, train)

    def backward(self, dout):
        """The three gradients above: fast_backward in explorer/nn/fast_conv.py."""
        return self.fast_backward(dout, input_grad=True)

    def backward_weights(self, dout):
        """The parameter gradients only (the first layer needs no input gradient)."""
        self.fast_backward(dout, input_grad=False)


class Pool2D(Layer):
    """Shared shape logic for max and average pooling (k x k windows, stride s, no padding)."""

    kind = "pool"

    def __init__(self, size: int = 2, stride: int | None = None):
        self.size = size
        self.stride = stride or size

    def config(self):
        return {"size": self.size, "stride": self.stride}

    def build(self, input_shape, rng, init, dtype):
        h, w, c = input_shape
        out_h, out_w = output_size(h, self.size, self.stride, 0), output_size(w, self.size, self.stride, 0)
        if out_h < 1 or out_w < 1:
            raise ValueError(f"a {self.size}x{self.size} pool does not fit a {h}x{w} input")
        return (out_h, out_w, c)

    def windows(self, shape):
        _, h, w, _ = shape
        out_h, out_w = output_size(h, self.size, self.stride, 0), output_size(w, self.size, self.stride, 0)
        return offset_slices(self.size, self.stride, out_h, out_w)


class MaxPool2D(Pool2D):
    summary = "Keeps the strongest response in each window: smaller maps, a little shift tolerance."

    def forward(self, x, train=False):
        """max_pool above, in parts of the batch on both cores."""
        self.input_shape = x.shape
        n, h, w, c = x.shape
        out = np.empty((n, output_size(h, self.size, self.stride, 0), output_size(w, self.size, self.stride, 0), c), x.dtype)
        map_chunks(lambda part, _: self._window_maxima(x[part], out[part]), batch_parts(x))
        self.x, self.out = x, out  # references: backward finds the winners again
        return out

    def _window_maxima(self, x, out):
        window_maxima(x, out, self.size, self.stride)

    def backward(self, dout):
        """max_pool_backward above, in parts of the batch on both cores."""
        # Each window's gradient goes to exactly one input: its first maximum in row-major
        # order (as argmax picks it), even when ReLU zeros make whole windows tie.
        _, h, w, _ = self.input_shape
        tiled = self.size == self.stride and h % self.size == 0 and w % self.size == 0
        route = self._route_tiles if tiled else self._route_windows
        dx = np.empty(self.input_shape, dout.dtype)
        map_chunks(lambda part, _: route(dout[part], self.x[part], self.out[part], dx[part]), batch_parts(self.x))
        return dx

    def _route_windows(self, dout, x, out, dx):
        dx.fill(0)
        unclaimed = np.ones(dout.shape, bool)
        for _, _, rows, cols in self.windows(x.shape):
            hit = x[:, rows, cols, :] == out
            hit &= unclaimed
            unclaimed ^= hit
            dx[:, rows, cols, :] += dout * hit

    def _route_tiles(self, dout, x, out, dx):
        route_tiles(dout, x, out, dx, self.size)


class AvgPool2D(Pool2D):
    summary = "Averages each window: smaller, smoother maps."

    def forward(self, x, train=False):
        self.input_shape = x.shape
        slices = [x[:, rows, cols, :] for _, _, rows, cols in self.windows(x.shape)]
        return sum(slices) / x.dtype.type(self.size**2)

    def backward(self, dout):
        dx = np.zeros(self.input_shape, dout.dtype)
        share = dout / dout.dtype.type(self.size**2)
        for _, _, rows, cols in self.windows(self.input_shape):
            dx[:, rows, cols, :] += share
        return dx
