"""gan2d tests; `toy_nets` and `pkl_fixtures` are helpers other test folders import too."""
