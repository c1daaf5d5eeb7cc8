"""Developer tools that are not part of the platform: the throwaway PostgreSQL test harness."""
