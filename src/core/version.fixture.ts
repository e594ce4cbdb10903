/**
 * A job file written for dokkup 0.3, using every container field 0.3 knew: the tests that pin the
 * version 0.3 computed for it (upgrading must never change it) share this one text. `head` names
 * and places the job; neither is part of the version.
 */
export function shopJobFile03(head = 'name: shop\ngroup: web\n'): string {
  return `${head}count: 3
container:
  - image: 127.0.0.1:5000/shop:1.4.2
    command: ["httpd", "-f", "-p", "8000"]
    entrypoint: /bin/busybox
    ports:
      - in: 8000
      - in: 53/udp
    restart: unless-stopped
    labels:
      team: shop
    environment:
      - MODE=production
      - GREETING=hello world
    volumes:
      - shop-data:/data
      - /srv/shop/config:/config:ro
    networks: [front, back]
    healthcheck:
      test: wget -q -O /dev/null http://127.0.0.1:8000/
      interval: 5s
      timeout: 2s
      retries: 3
      start_period: 1s
    resources:
      cpus: 0.5
      memory: 256m
    pull: always
update:
  healthy_deadline: 1m
  min_healthy_time: 2s
`;
}
