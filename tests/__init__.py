"""The tests of PeerScale: claims of the model, its reproducibility and its interfaces."""
