"""The network library: layers, convolution, losses, inits, optimizers, networks, models,
the training loop and checkpoints. Readable definitions first; speed kernels beside them."""
