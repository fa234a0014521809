#!/usr/bin/env python3
"""Manual PID-1 smoke test for sbx-agent (not run by ctest: needs QEMU and a
guest kernel). Builds a throw-away initramfs (sbx-agent as /init + modules) and a
tiny ext4 root from host binaries, boots it under TCG, drives the agent link
like sandboxd would, and checks mounts, uid mapping, exec, tty, reconnect and
shutdown. Usage:

  vm_smoke.py AGENT KERNEL_DIR
    AGENT       the static sbx-agent binary
    KERNEL_DIR  holds vmlinux and root/lib/modules/<version>/ (an unpacked
                linux-image package)
"""
import json, os, select, shutil, socket, struct, subprocess, sys, tempfile, time

agent, kdir = sys.argv[1], sys.argv[2]
W = tempfile.mkdtemp(prefix='agent-vm-')
K = kdir + '/root'
V = os.listdir(K + '/lib/modules')[0]
fails = []


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        fails.append(what)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True, **kw).stdout


# --- initramfs: /init + modules in dependency order.
ini = W + '/initrd'
os.makedirs(ini + '/etc/sbx')
sh(f'strip -o {ini}/init {agent}')
mods = []
for m in ['virtio_mmio', 'virtio_blk', 'virtio_console', '9p', '9pnet_virtio', 'ext4']:
    for line in sh(f'modprobe -d {K} -S {V} --show-depends {m}').splitlines():
        p = line.split()[1]
        if line.startswith('insmod') and p not in mods:
            mods.append(p)
with open(ini + '/etc/sbx/modules', 'w') as f:
    for p in mods:
        rel = p[len(K):]
        os.makedirs(ini + os.path.dirname(rel), exist_ok=True)
        shutil.copy(p, ini + rel)
        f.write(rel + '\n')
sh(f'cd {ini} && find . | cpio -o -H newc 2>/dev/null | gzip -1 > {W}/initrd.cpio.gz')

# --- root disk from host binaries and their libraries.
R = W + '/rootfs'
for d in ['bin', 'etc', 'root', 'home/agent', 'tmp', 'proc', 'sys', 'dev', 'run']:
    os.makedirs(R + '/' + d)
for b in ['sh', 'ls', 'cat', 'id', 'tty', 'stty', 'sleep', 'hostname']:
    p = shutil.which(b)
    shutil.copy(p, R + '/bin/')
    for lib in sh(f'ldd {p} || true').split():
        if lib.startswith('/') and not os.path.exists(R + lib):
            os.makedirs(R + os.path.dirname(lib), exist_ok=True)
            shutil.copy(lib, R + lib)
open(R + '/etc/passwd', 'w').write('root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n')
open(R + '/etc/group', 'w').write('root:x:0:\ndocker:x:999:agent\nagent:x:1000:\n')
open(R + '/home/agent/file', 'w').write('x')
sh(f'chown -R 1000:1000 {R}/home/agent && chmod 1777 {R}/tmp')
sh(f'truncate -s 200M {W}/root.img && mkfs.ext4 -q -F -d {R} {W}/root.img')
ws = W + '/ws dir'
os.makedirs(ws)
open(ws + '/f.txt', 'w').write('ws-content\n')

# --- boot.
khz = int(float([l for l in open('/proc/cpuinfo') if l.startswith('cpu MHz')][0].split(':')[1]) * 1000)
sock = W + '/agent.sock'
append = (f'console=ttyS0 panic=-1 quiet tsc_early_khz={khz} sbx.name=vm-test '
          f'sbx.ws_path={ws.replace(" ", "%20")} sbx.ws_tag=ws sbx.ws_fs=9p sbx.uid=4242 sbx.gid=4343')
t0 = time.time()
q = subprocess.Popen([
    'qemu-system-x86_64', '-M', 'microvm,accel=tcg', '-m', '512', '-smp', '2', '-nodefaults',
    '-no-user-config', '-nographic', '-no-reboot', '-serial', f'file:{W}/console.log',
    '-kernel', kdir + '/vmlinux', '-initrd', W + '/initrd.cpio.gz', '-append', append,
    '-drive', f'id=root,file={W}/root.img,format=raw,if=none', '-device', 'virtio-blk-device,drive=root',
    '-fsdev', f'local,id=ws,path={ws},security_model=none',
    '-device', 'virtio-9p-device,fsdev=ws,mount_tag=ws', '-device', 'virtio-serial-device',
    '-chardev', f'socket,id=agent,path={sock},server=on,wait=off',
    '-device', 'virtserialport,chardev=agent,name=sbx.agent'])
while not os.path.exists(sock):
    time.sleep(0.05)
s = None
buf = b''


def connect():
    global s, buf
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    buf = b''


def send(ch, t, p=b''):
    s.sendall(struct.pack('<IIB', len(p), ch, t) + p)


def fill(timeout):
    global buf
    r, _, _ = select.select([s], [], [], timeout)
    if not r:
        return False
    d = s.recv(65536)
    buf += d
    return bool(d)


def recv(timeout=30):
    global buf
    end = time.time() + timeout
    while True:
        if len(buf) >= 9:
            n, ch, t = struct.unpack('<IIB', buf[:9])
            if len(buf) >= 9 + n:
                p, buf = buf[9:9 + n], buf[9 + n:]
                return ch, t, p
        if not fill(max(0, end - time.time())):
            return None


def handshake(nonce):
    """Sends HELLO every 500 ms until an ACK with `nonce`; drops all else."""
    global buf
    deadline = time.time() + 60
    while time.time() < deadline:
        send(0xFFFFFFFF, 1, b'SBXHELLO' + nonce + b'{"version":1}')
        end = time.time() + 0.5
        while time.time() < end and fill(max(0, end - time.time())):
            i = buf.find(b'SBXHELLO' + nonce)
            if i >= 9:
                buf = buf[i - 9:]
                ack = recv()
                while fill(0.3):  # ACKs of re-sent HELLOs
                    pass
                while buf.find(b'SBXHELLO' + nonce) >= 9:
                    recv()
                return json.loads(ack[2][24:])
    return None


def run(ch, argv, **kw):
    send(ch, 4, json.dumps(dict(argv=argv, **kw)).encode())
    send(ch, 10)
    out = b''
    while True:
        f = recv()
        if f is None:
            return None, out.decode()
        c, t, p = f
        if c != ch:
            continue
        if t == 6:
            return json.loads(p), ''
        if t in (7, 8):
            out += p
            send(ch, 9, struct.pack('<I', len(p)))
        if t == 11:
            return json.loads(p), out.decode(errors='replace')


connect()
ack = handshake(b'N' * 16)
check(ack is not None and ack.get('pid1') is True, f'HELLO_ACK {ack} after {time.time() - t0:.1f}s')
e, out = run(1, ['cat', '/proc/mounts'])
check(' / ext4 rw' in out and '9p' in out and 'devpts /dev/pts' in out and 'cgroup2' in out, 'mounts')
check(run(2, ['cat', ws + '/f.txt'])[1] == 'ws-content\n', 'workspace readable')
run(3, ['sh', '-c', f'echo hi > "{ws}/from-guest"'])
check(open(ws + '/from-guest').read() == 'hi\n', 'workspace write visible on host')
check(run(4, ['hostname'])[1] == 'vm-test\n', 'hostname')
e, out = run(5, ['id'], user='agent')
check(out.startswith('uid=4242(agent) gid=4343(agent)') and '999(docker)' in out, 'uid map: ' + out.strip())
check('4242 4343' in run(6, ['ls', '-ln', '/home/agent'])[1], 'home re-owned')
check(run(7, ['tty'], tty=True)[1].startswith('/dev/pts/'), 'tty')
send(8, 4, json.dumps(dict(argv=['sleep', '1000'])).encode())
recv()
s.close()
time.sleep(2)
connect()
check(handshake(b'M' * 16) is not None, 'reconnect with a new nonce')
check(run(9, ['cat', '/proc/1/comm'])[1].strip() in ('init', 'sbx-agent'), 'agent still PID 1')
send(0, 3, b'{"id":2,"op":"shutdown"}')
check(recv() is not None, 'shutdown acknowledged')
try:
    q.wait(timeout=30)
    check(True, f'QEMU exited ({q.returncode}) {time.time() - t0:.1f}s after start')
except subprocess.TimeoutExpired:
    q.kill()
    check(False, 'QEMU exited after shutdown')
print(open(W + '/console.log').read()[-1500:])
shutil.rmtree(W)
sys.exit(1 if fails else 0)
