"""Running the lab and measuring it: one run, one cell, variant × transport, fixes applied
under traffic, load, and one outcome per Socket.IO connection."""
