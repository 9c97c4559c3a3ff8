"""User groups (用户组) and their members."""
