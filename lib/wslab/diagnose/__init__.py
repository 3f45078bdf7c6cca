"""A user's deployment: whether its versions and server are affected (read only from the
recorded results), and checks of a live app and of its server log."""
