-- The typical game message for the codec benchmarks: a player snapshot
-- with 20 scalar fields, a string and 16 small structs.
local M = {}

function M.value()
	local items = {}
	for i = 1, 16 do
		items[i] = {id = 1000 + i, count = i * 3, slot = i, bound = i % 2 == 0}
	end
	return {
		uid = 90000001, level = 57, exp = 1234567, hp = 880, mp = 240, x = 1024, y = 768, z = 12,
		dir = 3, speed = 7, gold = 5000000000, gems = 321, vip = 4, guild = 77, map = 1001,
		online = true, pk = false, title = 12, flags = 0x30, last_login = 1764000000,
		name = "player_of_the_north",
		items = items,
	}
end

M.zproto_schema = [[
item {
	.id:integer 1
	.count:integer 2
	.slot:integer 3
	.bound:boolean 4
}
snapshot 0x01 {
	.uid:long 1
	.level:integer 2
	.exp:long 3
	.hp:integer 4
	.mp:integer 5
	.x:integer 6
	.y:integer 7
	.z:integer 8
	.dir:integer 9
	.speed:integer 10
	.gold:long 11
	.gems:integer 12
	.vip:integer 13
	.guild:integer 14
	.map:integer 15
	.online:boolean 16
	.pk:boolean 17
	.title:integer 18
	.flags:integer 19
	.last_login:long 20
	.name:string 21
	.items:item[] 22
}
]]

return M
