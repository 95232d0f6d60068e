"""The network library: layers, convolution, losses, inits, optimizers, networks, models,
the training loop and checkpoints. Readable definitions first; speed kernels beside them."""

from explorer.nn.machine import keep_freed_memory

keep_freed_memory()  # the arrays of every training step come and go: keep their pages (machine.py)
