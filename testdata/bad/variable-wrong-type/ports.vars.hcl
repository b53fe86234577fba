ports = ["http", 443]
