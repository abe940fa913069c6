"""Running untrusted generated code, and the task sets it is checked against.

Layer rule: imports only rankinv.theory (and the package root's helpers); never torch.
"""
