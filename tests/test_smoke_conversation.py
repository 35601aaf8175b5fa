from tests.conversation import Chat, pair_up


async def test_a_win_reaches_the_partner(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("alice", "/win shipped it 🚀")
    assert "shared with <@bob>" in answer
    assert "<@alice> shared a win: shipped it 🚀" in chat.dms("bob")
