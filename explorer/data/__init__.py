"""Data: IDX files, MNIST (find, download, verify, load), preprocessing of drawings and photos,
augmentation, and the class-digits database."""
