/* Declarations of the BSD kqueue API, as FreeBSD and macOS document them,
 * so that core/poller_kqueue.cc can be compiled (never run) on Linux. The
 * object is not linked into anything. */
#ifndef SILLY_COMPAT_SYS_EVENT_H
#define SILLY_COMPAT_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kevent {
  uintptr_t ident;
  short filter;
  unsigned short flags;
  unsigned int fflags;
  intptr_t data;
  void *udata;
};

#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_CLEAR 0x0020
#define EV_ERROR 0x4000
#define EV_EOF 0x8000

#define EV_SET(kevp, a, b, c, d, e, f) \
  do {                                 \
    struct kevent *__kevp = (kevp);    \
    __kevp->ident = (a);               \
    __kevp->filter = (b);              \
    __kevp->flags = (c);               \
    __kevp->fflags = (d);              \
    __kevp->data = (e);                \
    __kevp->udata = (f);               \
  } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist, int nevents,
           const struct timespec *timeout);

#ifdef __cplusplus
}
#endif

#endif
