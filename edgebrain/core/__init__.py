"""What happens to a request: the inbox, the handler, replies and results, the schedule and its thread."""
