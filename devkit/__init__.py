"""Development-only parts shared by devhost and the simulators (never deployed, never imported by the app)."""
