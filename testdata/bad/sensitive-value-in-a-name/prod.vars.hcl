secret = "hunter2x"
