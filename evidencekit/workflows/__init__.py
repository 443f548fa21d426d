"""What people run, one module per family; each combines the layers below and never prints or exits."""
