"""The textbook NumPy baseline: deepconvnet as "Deep Learning from Scratch" writes it.

NCHW arrays, im2col by k*k strided slices into a fresh 6-D array that is then transposed
and copied, col2im by k*k strided slice adds into a fresh zero image (the book's form; an
np.add.at scatter on index arrays, the other classic form, measured about 100x slower here
and would make the baseline a straw man), pooling through im2col + argmax, plain Adam. Written here for benchmarks/speed.py only, to show what
explorer's NHWC core gains over the straightforward version; not used by the app.
"""
from __future__ import annotations

import numpy as np


def im2col(x, k, stride, pad):
    n, c, h, w = x.shape
    out_h, out_w = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    col = np.zeros((n, c, k, k, out_h, out_w), x.dtype)
    for y in range(k):
        for z in range(k):
            col[:, :, y, z] = img[:, :, y : y + stride * out_h : stride, z : z + stride * out_w : stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, -1), out_h, out_w


def col2im(col, shape, k, stride, pad):
    """The book's col2im: k*k strided slice adds into a fresh padded image."""
    n, c, h, w = shape
    out_h, out_w = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    col = col.reshape(n, out_h, out_w, c, k, k).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1), col.dtype)
    for y in range(k):
        for z in range(k):
            img[:, :, y : y + stride * out_h : stride, z : z + stride * out_w : stride] += col[:, :, y, z]
    return img[:, :, pad : pad + h, pad : pad + w]


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        fn, c, k, _ = self.W.shape
        self.x = x
        self.col, out_h, out_w = im2col(x, k, self.stride, self.pad)
        self.col_W = self.W.reshape(fn, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(len(x), out_h, out_w, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        fn, c, k, _ = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = dout.sum(axis=0)
        self.dW = (self.col.T @ dout).T.reshape(self.W.shape)
        dcol = dout @ self.col_W.T
        return col2im(dcol, self.x.shape, k, self.stride, self.pad)


class Pooling:
    def __init__(self, k=2, stride=2):
        self.k, self.stride = k, stride

    def forward(self, x):
        n, c, h, w = x.shape
        out_h, out_w = (h - self.k) // self.stride + 1, (w - self.k) // self.stride + 1
        col, _, _ = im2col(x, self.k, self.stride, 0)
        col = col.reshape(-1, self.k * self.k)
        self.x, self.arg_max = x, np.argmax(col, axis=1)
        return col.max(axis=1).reshape(n, out_h, out_w, c).transpose(0, 3, 1, 2)

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)
        dmax = np.zeros((dout.size, self.k * self.k), dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max] = dout.ravel()
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], -1)
        return col2im(dcol, self.x.shape, self.k, self.stride, 0)


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.original_shape = x.shape
        self.x = x.reshape(len(x), -1)
        return self.x @ self.W + self.b

    def backward(self, dout):
        self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.original_shape)


class Dropout:
    def __init__(self, ratio=0.5, rng=None):
        self.ratio, self.rng = ratio, rng or np.random.default_rng(0)

    def forward(self, x):
        self.mask = self.rng.random(x.shape, dtype=np.float32) > self.ratio
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


def softmax_cross_entropy(logits, labels):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(labels)), labels] + 1e-7).mean()
    p[np.arange(len(labels)), labels] -= 1
    return loss, p / len(labels)


class DeepConvNet:
    """conv-relu-conv-relu-pool x3, affine-relu-dropout-affine-dropout (as the book)."""

    def __init__(self, seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        specs = [(1, 16, 1), (16, 16, 1), (16, 32, 1), (32, 32, 2), (32, 64, 1), (64, 64, 1)]
        self.params, self.layers = [], []
        for index, (c, f, pad) in enumerate(specs):
            W = (rng.standard_normal((f, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(dtype)
            conv = Convolution(W, np.zeros(f, dtype), 1, pad)
            self.layers += [conv, Relu()] + ([Pooling(2, 2)] if index % 2 else [])
            self.params.append(conv)
        for fan_in, units, last in [(64 * 4 * 4, 50, False), (50, 10, True)]:
            dense = Affine((rng.standard_normal((fan_in, units)) * np.sqrt(2 / fan_in)).astype(dtype), np.zeros(units, dtype))
            self.layers += [dense] + ([Dropout(0.5, rng)] if last else [Relu(), Dropout(0.5, rng)])
            self.params.append(dense)

    def parameter_count(self):
        return sum(p.W.size + p.b.size for p in self.params)

    def gradient(self, x, labels):
        for layer in self.layers:
            x = layer.forward(x)
        loss, dout = softmax_cross_entropy(x, labels)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return loss


class Adam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2, self.iter, self.m, self.v = lr, beta1, beta2, 0, None, None

    def update(self, layers):
        pairs = [(layer, name) for layer in layers for name in ("W", "b")]
        if self.m is None:
            self.m = [np.zeros_like(getattr(layer, name)) for layer, name in pairs]
            self.v = [np.zeros_like(getattr(layer, name)) for layer, name in pairs]
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        for i, (layer, name) in enumerate(pairs):
            grad = getattr(layer, "d" + name)
            self.m[i] += (1 - self.beta1) * (grad - self.m[i])
            self.v[i] += (1 - self.beta2) * (grad**2 - self.v[i])
            getattr(layer, name)[...] -= lr_t * self.m[i] / (np.sqrt(self.v[i]) + 1e-7)
