"""The quantization planner: its screen and the picker it opens for a model or a machine."""
