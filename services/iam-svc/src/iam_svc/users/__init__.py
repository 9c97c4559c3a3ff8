"""Sub-users (子用户) of a root account."""
