"""The chat screen: its parts (bar, turns, chats), the state they share, the dialogs only it opens."""
