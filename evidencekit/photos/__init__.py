"""Photo reuse: perceptual hashes (PDQ, crop-resistant), a PDQ index, and confirmation by feature matching.

Pure functions over image files; the only room that imports pdqhash, imagehash and OpenCV. Never claims
identity: a match is worded "visually matching (PDQ distance 12, 287 matched points)".

Modules: ``hashing`` (PDQ of a file, decoded safely: ``photo_facts``, ``dihedral_pdq``), ``match``
(candidates, crop-resistant hash, confirmation, words, ``algorithms()``), ``features`` (ORB + RANSAC),
``exhibit`` (the side-by-side exhibit image), ``index`` (``PdqIndex``: exact multi-index hashing),
``visualdiff`` (two screenshots compared: changed pixels, boxed regions, the three-panel image).
"""
