"""Which versions and servers log the 500: cells run in their own environments, the
factor matrix (one change at a time) and the release bisect."""
