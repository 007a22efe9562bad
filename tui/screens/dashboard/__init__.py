"""The dashboard (the home screen), its sampler thread and its layout rules."""
