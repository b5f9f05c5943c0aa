"""Importers of foreign generator checkpoints (StyleGAN2-ADA pickles, rosinality `.pt`), never running code."""
