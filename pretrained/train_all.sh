#!/usr/bin/env bash
# Reproduces every file in pretrained/ with our own NumPy core (see pretrained/README.md).
# Run from the repository root with MNIST available (MNIST_DIR, the cache, or a download).
set -euo pipefail
cd "$(dirname "$0")/.."
train() { python -m explorer.train "$@"; }

# Nielsen, chapter 1: 784-30-10 sigmoid, quadratic cost, SGD lr 3.0, batch 10, 30 epochs on 50k.
train --model nielsen --val-size 10000 --keep-best --out pretrained/nielsen.npz
# Keras MLP example: 784-512-10, RMSprop, batch 128, 5 epochs.
train --model keras-mlp --keep-best --out pretrained/keras-mlp.npz
# Zhou: conv3x3x8-pool-softmax, SGD lr 0.005 one image at a time: the article's 3 epochs on the
# first 1,000 images, then the same network on all training images.
train --model zhou-cnn --train-size 1000 --epochs 3 --out pretrained/zhou-cnn-article.npz
train --model zhou-cnn --epochs 5 --keep-best --out pretrained/zhou-cnn.npz
# LeNet-5 style, Adam.
train --model lenet --epochs 12 --lr-decay 0.8 --keep-best --out pretrained/lenet.npz
# Deep ConvNet (Deep Learning from Scratch, ch. 8): six 3x3 convs, He init, Adam, dropout.
# The book's protocol (20 epochs, no augmentation), then our best: with shifts and small
# rotations, and a decaying learning rate (seed 3 had the better validation accuracy of two).
train --model deepconvnet --epochs 20 --keep-best --out pretrained/deepconvnet-article.npz
train --model deepconvnet --epochs 40 --lr-decay 0.92 --augment shift+rotate --seed 3 --keep-best --out pretrained/deepconvnet.npz
# Deep ConvNet trained for the real world (students' own digits): the real-world recipe of
# explorer/data/augment.py (shifts; turns up to 20 degrees and resizing by up to 20% in one
# resampling; strokes up to 1.5 steps thinner or one thicker; elastic bending and noise on half).
train --model deepconvnet --epochs 30 --lr-decay 0.9 --augment shift+affine+thickness+elastic+noise --seed 3 --keep-best --out pretrained/deepconvnet-realworld.npz
# TensorFlow CNN with batch norm, dropout and the article's one-pixel shifts; smaller batches,
# more epochs (seed 1 had the better validation accuracy of two).
train --model tf-cnn-bn --epochs 60 --lr 0.002 --lr-decay 0.93 --batch-size 50 --augment shift1 --seed 1 --keep-best --out pretrained/tf-cnn-bn.npz
# Every card gets its temperature (confidence calibrated on the validation split).
python -m explorer.cli.calibrate
