"""The 1-D convolution the Timeloop file tests share: K=4 R=3 P=8, as a Timeloop v0.4
problem."""

PROBLEM = """problem:
  shape:
    name: Conv1D
    dimensions: [K, R, P]
    data_spaces:
    - {name: Weights, projection: [[[K]], [[R]]]}
    - {name: Inputs, projection: [[[R], [P]]]}
    - {name: Outputs, projection: [[[K]], [[P]]], read_write: true}
  instance: {K: 4, R: 3, P: 8}
"""
