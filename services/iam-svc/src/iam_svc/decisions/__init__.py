"""CAM decisions exposed to the gateway: a principal's effective policies, and decisions."""
