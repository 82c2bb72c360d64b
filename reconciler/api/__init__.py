"""The ByteNite API over HTTP: the one edge of the reconciler that talks to the network."""
