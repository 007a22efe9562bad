"""Model facts + a machine -> one row per quant: memory, placement, speed, launch arguments."""
