"""Local emulators of outside services, speaking their wire formats over real sockets."""
