"""What managers and nodes say to each other, shared by both sides: task states and names,
the dispatcher's timing, and the typed messages of the node-to-manager routes. It sits just
above the spec core and below every runtime package (see .importlinter)."""
