"""The platform-neutral core of mentorbot: domain, flows, storage and the Engine."""
