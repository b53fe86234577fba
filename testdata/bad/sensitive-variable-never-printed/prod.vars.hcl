secret_addr = "hunter2-10.231.7.1"
