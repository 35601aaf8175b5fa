import warnings

# discord.py imports the audioop module (voice), which Python 3.11 marks deprecated.
warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
