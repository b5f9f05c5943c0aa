"""Datasets for training: image folders and zips (StyleGAN2), paired folders (refiners), and a resumable sampler."""
