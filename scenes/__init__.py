"""scenes: scene files ⇄ typed specs, procedural assets, camera paths, scripted renders, datasets."""
