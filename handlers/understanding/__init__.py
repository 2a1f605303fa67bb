"""What a chat message means: normalised words → concepts → an intent, with the people it names.

`text` folds what people type into comparable words, `lexicon` says which words carry which
meaning in English and German, `recognise` turns the concepts into an intent (pure: no
directory), and `people` finds the named people in the directory. handlers/chat.py ties
them together with the conversation's state.
"""
