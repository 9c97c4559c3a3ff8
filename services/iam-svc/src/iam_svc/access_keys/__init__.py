"""API keys (SecretId/SecretKey pairs) of root accounts and sub-users."""
