// The constants and memory layouts of `wasi_snapshot_preview1`, as its witx files define them
// (and wasi-libc's <wasi/api.h> asserts). Only what the host side needs.
#pragma once

#include <cstdint>

namespace kiln::wasi::abi {

// errno (u16).
enum Errno : uint16_t {
  kSuccess = 0,
  k2big = 1,
  kAcces = 2,
  kAddrinuse = 3,
  kAddrnotavail = 4,
  kAfnosupport = 5,
  kAgain = 6,
  kAlready = 7,
  kBadf = 8,
  kBadmsg = 9,
  kBusy = 10,
  kCanceled = 11,
  kChild = 12,
  kConnaborted = 13,
  kConnrefused = 14,
  kConnreset = 15,
  kDeadlk = 16,
  kDestaddrreq = 17,
  kDom = 18,
  kDquot = 19,
  kExist = 20,
  kFault = 21,
  kFbig = 22,
  kHostunreach = 23,
  kIdrm = 24,
  kIlseq = 25,
  kInprogress = 26,
  kIntr = 27,
  kInval = 28,
  kIo = 29,
  kIsconn = 30,
  kIsdir = 31,
  kLoop = 32,
  kMfile = 33,
  kMlink = 34,
  kMsgsize = 35,
  kMultihop = 36,
  kNametoolong = 37,
  kNetdown = 38,
  kNetreset = 39,
  kNetunreach = 40,
  kNfile = 41,
  kNobufs = 42,
  kNodev = 43,
  kNoent = 44,
  kNoexec = 45,
  kNolck = 46,
  kNolink = 47,
  kNomem = 48,
  kNomsg = 49,
  kNoprotoopt = 50,
  kNospc = 51,
  kNosys = 52,
  kNotconn = 53,
  kNotdir = 54,
  kNotempty = 55,
  kNotrecoverable = 56,
  kNotsock = 57,
  kNotsup = 58,
  kNotty = 59,
  kNxio = 60,
  kOverflow = 61,
  kOwnerdead = 62,
  kPerm = 63,
  kPipe = 64,
  kProto = 65,
  kProtonosupport = 66,
  kPrototype = 67,
  kRange = 68,
  kRofs = 69,
  kSpipe = 70,
  kSrch = 71,
  kStale = 72,
  kTimedout = 73,
  kTxtbsy = 74,
  kXdev = 75,
  kNotcapable = 76,
};

// clockid (u32).
enum ClockId : uint32_t {
  kClockRealtime = 0,
  kClockMonotonic = 1,
  kClockProcessCputime = 2,
  kClockThreadCputime = 3,
};

// rights (u64 flags).
namespace rights {
constexpr uint64_t kFdDatasync = 1ull << 0;
constexpr uint64_t kFdRead = 1ull << 1;
constexpr uint64_t kFdSeek = 1ull << 2;
constexpr uint64_t kFdFdstatSetFlags = 1ull << 3;
constexpr uint64_t kFdSync = 1ull << 4;
constexpr uint64_t kFdTell = 1ull << 5;
constexpr uint64_t kFdWrite = 1ull << 6;
constexpr uint64_t kFdAdvise = 1ull << 7;
constexpr uint64_t kFdAllocate = 1ull << 8;
constexpr uint64_t kPathCreateDirectory = 1ull << 9;
constexpr uint64_t kPathCreateFile = 1ull << 10;
constexpr uint64_t kPathLinkSource = 1ull << 11;
constexpr uint64_t kPathLinkTarget = 1ull << 12;
constexpr uint64_t kPathOpen = 1ull << 13;
constexpr uint64_t kFdReaddir = 1ull << 14;
constexpr uint64_t kPathReadlink = 1ull << 15;
constexpr uint64_t kPathRenameSource = 1ull << 16;
constexpr uint64_t kPathRenameTarget = 1ull << 17;
constexpr uint64_t kPathFilestatGet = 1ull << 18;
constexpr uint64_t kPathFilestatSetSize = 1ull << 19;
constexpr uint64_t kPathFilestatSetTimes = 1ull << 20;
constexpr uint64_t kFdFilestatGet = 1ull << 21;
constexpr uint64_t kFdFilestatSetSize = 1ull << 22;
constexpr uint64_t kFdFilestatSetTimes = 1ull << 23;
constexpr uint64_t kPathSymlink = 1ull << 24;
constexpr uint64_t kPathRemoveDirectory = 1ull << 25;
constexpr uint64_t kPathUnlinkFile = 1ull << 26;
constexpr uint64_t kPollFdReadwrite = 1ull << 27;
constexpr uint64_t kSockShutdown = 1ull << 28;
constexpr uint64_t kSockAccept = 1ull << 29;
constexpr uint64_t kAll = (1ull << 30) - 1;
}  // namespace rights

// whence (u8).
enum Whence : uint8_t { kWhenceSet = 0, kWhenceCur = 1, kWhenceEnd = 2 };

// filetype (u8).
enum Filetype : uint8_t {
  kFiletypeUnknown = 0,
  kFiletypeBlockDevice = 1,
  kFiletypeCharacterDevice = 2,
  kFiletypeDirectory = 3,
  kFiletypeRegularFile = 4,
  kFiletypeSocketDgram = 5,
  kFiletypeSocketStream = 6,
  kFiletypeSymbolicLink = 7,
};

// advice (u8): normal .. noreuse.
constexpr uint32_t kAdviceMax = 5;

// fdflags (u16).
constexpr uint32_t kFdflagAppend = 1 << 0;
constexpr uint32_t kFdflagDsync = 1 << 1;
constexpr uint32_t kFdflagNonblock = 1 << 2;
constexpr uint32_t kFdflagRsync = 1 << 3;
constexpr uint32_t kFdflagSync = 1 << 4;
constexpr uint32_t kFdflagsAll = 0x1f;

// fstflags (u16).
constexpr uint32_t kFstAtim = 1 << 0;
constexpr uint32_t kFstAtimNow = 1 << 1;
constexpr uint32_t kFstMtim = 1 << 2;
constexpr uint32_t kFstMtimNow = 1 << 3;
constexpr uint32_t kFstflagsAll = 0xf;

// lookupflags (u32).
constexpr uint32_t kLookupSymlinkFollow = 1 << 0;
constexpr uint32_t kLookupflagsAll = 1;

// oflags (u16).
constexpr uint32_t kOflagCreat = 1 << 0;
constexpr uint32_t kOflagDirectory = 1 << 1;
constexpr uint32_t kOflagExcl = 1 << 2;
constexpr uint32_t kOflagTrunc = 1 << 3;
constexpr uint32_t kOflagsAll = 0xf;

// eventtype (u8).
enum EventType : uint8_t { kEventClock = 0, kEventFdRead = 1, kEventFdWrite = 2 };
constexpr uint32_t kEventrwflagHangup = 1 << 0;
constexpr uint32_t kSubclockAbstime = 1 << 0;

// sdflags (u8).
constexpr uint32_t kSdflagRd = 1 << 0;
constexpr uint32_t kSdflagWr = 1 << 1;
constexpr uint32_t kSdflagsAll = 0x3;
// riflags (u16).
constexpr uint32_t kRiflagRecvPeek = 1 << 0;
constexpr uint32_t kRiflagRecvWaitall = 1 << 1;
constexpr uint32_t kRiflagsAll = 0x3;
// roflags (u16).
constexpr uint32_t kRoflagRecvDataTruncated = 1 << 0;

// preopentype (u8).
constexpr uint8_t kPreopentypeDir = 0;

// Layouts: size and alignment of each structure the host reads or writes.
struct Layout {
  uint32_t size, align;
};
constexpr Layout kIovec{8, 4};      // buf: u32 @0, buf_len: u32 @4
constexpr Layout kFdstat{24, 8};    // filetype u8 @0, flags u16 @2, rights_base @8, inheriting @16
constexpr Layout kFilestat{64, 8};  // dev @0, ino @8, filetype u8 @16, nlink @24, size @32,
                                    // atim @40, mtim @48, ctim @56
constexpr Layout kDirent{24, 8};    // d_next @0, d_ino @8, d_namlen u32 @16, d_type u8 @20
constexpr Layout kPrestat{8, 4};    // tag u8 @0, pr_name_len u32 @4
constexpr Layout kSubscription{48, 8};  // userdata @0, tag u8 @8, union @16
constexpr Layout kEvent{32, 8};  // userdata @0, error u16 @8, type u8 @10, nbytes @16, flags @24
constexpr Layout kU32{4, 4};
constexpr Layout kU64{8, 8};
constexpr Layout kU16{2, 2};

}  // namespace kiln::wasi::abi
