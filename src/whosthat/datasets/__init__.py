"""Readers of the research datasets (LFW, CEW, NUAA, CelebA), one module each, shared by evaluation and research.

Each reader takes the dataset folder as an argument (the commands default it to `WHOSTHAT_DATA`),
returns plain Python and numpy values whose order is fixed (file names sorted, or the order of the
dataset's own list files), and raises `BadInputError` saying what it expected when the folder does not
have the dataset's layout. Nothing here imports torch.
"""
