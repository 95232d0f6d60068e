"""The analyses the pages show: a network taken apart, receptive fields, fair comparisons,
optimizer paths, the results table."""
