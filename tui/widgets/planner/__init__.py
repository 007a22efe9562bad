"""The planner's widgets: the inputs bar, the plan table and its details, and where the inputs come from."""
