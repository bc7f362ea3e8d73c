"""
The course's own blocking socket clients, kept verbatim in spirit, so the system
tests prove that netlab serves them exactly as the lecture's servers did.
"""
