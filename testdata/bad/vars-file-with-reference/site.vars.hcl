subnet = cidrsubnet("10.231.0.0/16", 8, 7)
