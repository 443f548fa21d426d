"""Photo reuse: perceptual hashes (PDQ, crop-resistant), a PDQ index, and confirmation by feature matching.

Pure functions over image files; the only room that imports pdqhash, imagehash and OpenCV. Never claims
identity: a match is worded "visually matching (PDQ distance 12, 287 matched points)".
"""
